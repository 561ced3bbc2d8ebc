import time

from renderer.logic.render import PROGRESS_INTERVAL_S, Progress


class RecordingSnapshots:
    """The repository boundary, faked: records the progress writes."""

    def __init__(self):
        self.writes = []

    def progress(self, snapshot_id, percent):
        self.writes.append((snapshot_id, percent))


def test_intermediate_progress_is_written_only_when_a_poller_could_see_it():
    snapshots = RecordingSnapshots()
    progress = Progress(snapshots, "s1")
    # Given steps that follow the claim within milliseconds, nothing is written
    progress(30)
    progress(60)
    assert snapshots.writes == []
    # When a step comes after a slow one, it is written
    time.sleep(PROGRESS_INTERVAL_S + 0.01)
    progress(80)
    assert snapshots.writes == [("s1", 80)]
