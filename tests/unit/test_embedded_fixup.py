from streams.kafka.embedded_fixup import drop_stale_state


def test_a_folder_built_against_another_broker_run_is_emptied(tmp_path):
    folder = tmp_path / "worker"
    assert drop_stale_state(folder, "run-a") is False  # nothing there yet
    (folder / "v1").mkdir()
    (folder / "v1" / "tables.db").write_text("state")
    assert drop_stale_state(folder, "run-a") is False  # same broker: kept
    assert (folder / "v1" / "tables.db").exists()
    assert drop_stale_state(folder, "run-b") is True  # the broker restarted: dropped
    assert [p.name for p in folder.iterdir()] == [".embedded-broker-run"]
    assert drop_stale_state(folder, "run-b") is False
