"""Statistical shape of the simulated center: arrivals, queueing, resolution, surveys, agent states."""

from __future__ import annotations

import numpy as np


def test_intraday_profile_peaks_mid_morning_and_afternoon(stats_run, sql):
    by_hour = sql(
        f"""select hour(interval_start_local) as h, sum(offered) as offered
            from '{stats_run.data_dir}/truth/intervals.parquet'
            where queue_code in ('presales', 'aftersales') group by 1 order by 1"""
    ).set_index("h")["offered"]
    morning_peak = by_hour.loc[9:11].idxmax()
    afternoon_peak = by_hour.loc[14:16].idxmax()
    assert morning_peak in (9, 10, 11) and afternoon_peak in (14, 15, 16)
    # a lunchtime dip between the peaks, and quiet nights
    assert by_hour.loc[12] < by_hour.loc[morning_peak]
    assert by_hour.loc[12] < by_hour.loc[afternoon_peak]
    assert by_hour.loc[2:5].max() < 0.06 * by_hour.max()


def test_weekends_quieter_and_promotion_day_spikes(stats_run, sql):
    daily = sql(
        f"""select report_date, sum(offered) as offered from '{stats_run.data_dir}/truth/intervals.parquet'
            where queue_code = 'presales' and report_date between '2026-03-02' and '2026-03-13' group by 1"""
    )
    daily["dow"] = daily["report_date"].dt.day_of_week
    daily["day"] = daily["report_date"].dt.day
    weekday = daily[(daily.dow < 5) & (daily.day != 18)]["offered"].mean()
    saturday = daily[daily.dow == 5]["offered"].mean()
    promo_sunday = daily[daily.day == 8]["offered"].iloc[0]  # 2026-03-08 is a promotion day (a Sunday)
    assert saturday < 0.92 * weekday
    assert promo_sunday > 1.2 * weekday


def test_abandonment_rises_with_wait(stats_run, sql):
    """Busy intervals (long waits) lose more callers: the queue decides, not a drawn rate."""
    iv = sql(
        f"""select answered_wait_s / answered as asa, abandoned / offered as abandon_rate
            from '{stats_run.data_dir}/truth/intervals.parquet'
            where offered >= 8 and answered > 0 and queue_code <> 'intl_support'"""
    )
    low = iv[iv.asa <= iv.asa.quantile(0.33)]["abandon_rate"].mean()
    high = iv[iv.asa >= iv.asa.quantile(0.67)]["abandon_rate"].mean()
    assert high > 2 * low
    assert np.corrcoef(iv.asa, iv.abandon_rate)[0, 1] > 0.3


def test_service_level_emerges_some_intervals_miss_80_20(stats_run, sql):
    iv = sql(
        f"""select answered_within_t / (offered - short_abandoned) as sl
            from '{stats_run.data_dir}/truth/intervals.parquet'
            where offered - short_abandoned >= 10"""
    )
    missed = (iv.sl < 0.8).mean()
    assert 0.05 < missed < 0.7  # understaffed intervals miss, most do not
    reconcile = sql(
        f"""select count(*) as bad from '{stats_run.data_dir}/truth/intervals.parquet'
            where offered <> answered + abandoned + timeout + exit_key + overflow"""
    )
    assert reconcile.bad[0] == 0


def test_repeat_based_fcr_in_band(stats_run, sql):
    fcr = sql(
        f"""select avg(case when repeat_within_7d then 0 else 1 end) as fcr, count(*) as n
            from '{stats_run.data_dir}/truth/contacts.parquet' where handled and fcr_window_closed"""
    )
    assert fcr.n[0] > 1000
    assert 0.70 <= fcr.fcr[0] <= 0.85


def test_unresolved_contacts_come_back_more(stats_run, sql):
    by = sql(
        f"""select truly_resolved, avg(repeat_within_7d::int) as repeat_rate
            from '{stats_run.data_dir}/truth/contacts.parquet' where handled and fcr_window_closed group by 1"""
    ).set_index("truly_resolved")["repeat_rate"]
    assert by[False] > 3 * by[True]


def test_csat_response_rate_and_scores_follow_experience(stats_run, sql):
    handled = sql(
        f"select count(*) as n from '{stats_run.data_dir}/truth/contacts.parquet' "
        "where final_outcome = 'answered'"
    ).n[0]
    landing = stats_run.data_dir / "landing" / "customer_surveys"
    csv_rows = sql(f"select * from read_csv('{landing}/*.csv', all_varchar=true)")
    xlsx = list(landing.glob("*.xlsx"))
    import pandas as pd

    frames = [csv_rows] + [pd.read_excel(p, dtype=str) for p in xlsx]
    responses = pd.concat(frames, ignore_index=True)
    rate = len(responses) / handled
    assert 0.2 <= rate <= 0.3
    csat = responses["满意度评分"].astype(int)
    resolved = responses["问题是否解决"] == "是"
    assert csat[resolved].mean() > csat[~resolved].mean() + 0.5


def test_agent_states_partition_each_session(stats_run, sql):
    df = sql(
        f"""select agent_id, state, start_ts::timestamp as s, end_ts::timestamp as e
            from read_csv('{stats_run.data_dir}/landing/agent_states/*.csv', all_varchar=true)
            where agent_id in ('A0001', 'A0005', 'A0010', 'A0020')"""
    )
    sessions = df[df.state == "logged_in"]
    assert len(sessions) > 5
    for _, sess in sessions.iterrows():
        inside = df[
            (df.agent_id == sess.agent_id) & (df.state != "logged_in") & (df.s >= sess.s) & (df.e <= sess.e)
        ]
        inside = inside.sort_values("s")
        assert (inside.s.iloc[1:].to_numpy() >= inside.e.iloc[:-1].to_numpy()).all(), "states overlap"
        covered = (inside.e - inside.s).sum()
        assert covered == sess.e - sess.s, "the states do not fill the session"
        assert set(inside.state) <= {"available", "on_contact", "acw", "not_ready"}


def test_workforce_deviations_exist(stats_run, sql):
    nr = sql(
        f"""select reason, epoch(end_ts::timestamp) - epoch(start_ts::timestamp) as secs
            from read_csv('{stats_run.data_dir}/landing/agent_states/*.csv', all_varchar=true)
            where state = 'not_ready'"""
    )
    assert {"break", "lunch", "personal"} <= set(nr.reason)
    assert (nr[nr.reason == "personal"].secs > 15 * 60).sum() > 3  # long not-ready episodes
