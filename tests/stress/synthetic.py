"""A small, seeded stress-survey wave with planted effects, for the dbt-level tests.

Planted: tenure band 6-12m scores 0.9 higher on every dimension; project group PG-B scores 0.6
higher on job characteristics (JC); career development (CD) sits well above the midpoint 3
(explicit), organisation and climate (OC) below it (implicit). Three respondents share a rare education band (a cell that must be suppressed). Respondent 12
straight-lines (all answers 4); respondent 24 skips two items; respondent 30 answers only six.
"""

from __future__ import annotations

import numpy as np

BASE = {"JC": 3.4, "RS": 3.0, "OC": 2.6, "CD": 3.7, "FP": 3.2}


def make_wave(items: list[dict[str, str]], n: int = 60, seed: int = 7, wave: str = "2026Q3"):
    rng = np.random.default_rng(seed)
    responses, answers = [], []
    tenures = ["<6m", "6-12m", "1-3y", ">3y"]
    for i in range(n):
        pg = "PG-A" if i % 2 == 0 else "PG-B"
        team = f"{pg}-T{(i // 2) % 3 + 1}"
        tenure = tenures[i % 4]
        # Three respondents in a rare education band: a cell that must be suppressed.
        education = "master_plus" if i in (3, 17, 41) else ("bachelor" if i % 3 else "college")
        responses.append(
            {
                "response_id": f"{wave}-{i + 1:04d}",
                "wave": wave,
                "submitted_at": f"2026-09-{1 + i % 20:02d} 02:00:00",
                "project_group": pg,
                "team": team,
                "gender": "female" if i % 5 else "male",
                "age_band": ["<25", "25-30", "31-35"][i % 3],
                "education": education,
                "marital_status": "married" if i % 4 == 0 else "single",
                "tenure_band": tenure,
                "comment": "多一些休息" if i % 6 == 0 else None,
            }  # fmt: skip
        )
        person = rng.normal(0, 0.35)
        straightliner = i == 11
        for item in items:
            dim = item["dimension_code"]
            level = (
                BASE[dim]
                + person
                + (0.9 if tenure == "6-12m" else 0)
                + (0.6 if pg == "PG-B" and dim == "JC" else 0)
            )
            score = int(np.clip(np.rint(level + rng.normal(0, 0.6)), 1, 5))
            answer = 6 - score if item["reverse_keyed"] == "true" else score
            if straightliner:
                answer = 4
            if i == 23 and item["item_code"] in ("JC1", "RS2"):
                answer = None  # skipped items: incomplete response
            if i == 29:
                # Six identical answers, the rest skipped: too few items to call it straight-lining.
                answer = 3 if int(item["item_order"]) <= 6 else None
            answers.append((f"{wave}-{i + 1:04d}", item["item_code"], answer))
    waves = [(wave, "PG-A", 34), (wave, "PG-B", 32)]
    return responses, answers, waves


def make_pss_wave(items: list[dict[str, str]], n: int = 30, seed: int = 11, wave: str = "2026Q4-PSS"):
    """A wave answered on a second instrument (PSS-10, 0-4 scale): only its dictionary differs."""
    rng = np.random.default_rng(seed)
    responses, answers = [], []
    for i in range(n):
        responses.append(
            {"response_id": f"{wave}-{i + 1:04d}", "wave": wave, "submitted_at": f"2026-12-{1 + i % 20:02d} 03:00:00",
             "project_group": "PG-A" if i % 2 == 0 else "PG-B", "team": None, "gender": "female" if i % 3 else "male",
             "age_band": None, "education": None, "marital_status": None, "tenure_band": None, "comment": None}
        )  # fmt: skip
        person = rng.normal(0, 0.4)
        for item in items:
            level = (2.8 if item["dimension_code"] == "PH" else 1.8) + person
            score = int(np.clip(np.rint(level + rng.normal(0, 0.5)), 0, 4))
            answer = 4 - score if item["reverse_keyed"] == "true" else score
            answers.append((f"{wave}-{i + 1:04d}", item["item_code"], answer))
    return responses, answers, [(wave, "PG-A", 16), (wave, "PG-B", 16)]
