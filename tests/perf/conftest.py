from tests.e2e.conftest import *  # noqa: F401,F403 - the same moto server fixtures
