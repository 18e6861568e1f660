"""The display-file sweeper both the GAN GIFs and the Autoencoder JPEGs use."""

from __future__ import annotations

import os
import time

from demos.common.outputs import OldFileSweeper


def test_old_files_go_new_ones_stay_and_a_second_sweep_within_a_minute_does_nothing(tmp_path):
    old, new, other = tmp_path / "old.gif", tmp_path / "new.gif", tmp_path / "old.jpg"
    for path in (old, new, other):
        path.write_bytes(b"x")
    long_ago = time.time() - 3600
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    sweeper = OldFileSweeper(tmp_path, "*.gif", max_age_s=600)
    sweeper.sweep()
    assert not old.exists() and new.exists() and other.exists()  # only its own pattern
    late = tmp_path / "late.gif"
    late.write_bytes(b"x")
    os.utime(late, (long_ago, long_ago))
    sweeper.sweep()
    assert late.exists()  # swept at most once a minute
