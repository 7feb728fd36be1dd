"""The package's front door: every public name resolves, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import animal_spot


def test_every_public_name_resolves_to_a_real_object():
    for name in animal_spot.__all__:
        assert getattr(animal_spot, name) is not None, name
    assert callable(animal_spot.train) and callable(animal_spot.predict)


def test_importing_the_package_and_help_do_not_load_torch():
    code = "import animal_spot, animal_spot.cli, sys; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
