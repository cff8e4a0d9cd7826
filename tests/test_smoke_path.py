from tests.support import Case, referral, running_worker


async def test_left_uk_path(ts_env, pool, task_queue):
    async with running_worker(ts_env.client, pool, task_queue):
        case = await Case.start(ts_env.client, pool, task_queue, referral())
        await case.complete("nbtc_check", "left_uk", actor="nbtc.officer")
        result = await case.handle.result()
        assert result == "ACRO overseas conviction – left UK before deport action"
        row = await case.case_row()
        assert row["status"] == "closed"
