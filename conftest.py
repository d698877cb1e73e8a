"""Names every doctest in src/inrkit sees (the test command runs them: ``--doctest-modules``)."""
import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    import inrkit

    doctest_namespace.update(inrkit=inrkit, np=np, torch=torch)
