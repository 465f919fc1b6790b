"""Placement of inference component copies on an endpoint's instances (pure)."""

from __future__ import annotations

from providers.local.placement import Resources, capacity, fits, instances_needed, need_of


def test_instance_sizes_come_from_the_table() -> None:
    assert capacity("ml.m5.large") == Resources(2.0, 8192)
    assert capacity("ml.m5.xlarge") == Resources(4.0, 16384)
    assert capacity("ml.g5.xlarge") == Resources(4.0, 16384)
    assert capacity("ml.c5.2xlarge") == Resources(8.0, 16384)
    assert capacity("ml.unknown.size") is None


def test_a_copy_reserves_its_cores_and_minimum_memory() -> None:
    spec = {"ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1.5, "MinMemoryRequiredInMb": 2048}}
    assert need_of(spec) == Resources(1.5, 2048)


def test_copies_fit_within_cpu_and_memory_of_each_instance() -> None:
    room = Resources(2.0, 8192)
    assert fits(room, [Resources(1, 1024)] * 2, 1)
    assert not fits(room, [Resources(1, 1024)] * 3, 1)
    assert not fits(room, [Resources(0.25, 5000)] * 2, 1)  # memory, not cores, is short
    assert fits(room, [Resources(1.5, 1024), Resources(0.5, 1024), Resources(1.5, 1024), Resources(0.5, 1024)], 2)
    assert not fits(room, [Resources(1.5, 1024)] * 3, 2)  # no copy is split across instances


def test_managed_scaling_adds_instances_up_to_its_maximum() -> None:
    room = Resources(2.0, 8192)
    assert instances_needed(room, [Resources(1, 1024)] * 3, 1, 3) == 2
    assert instances_needed(room, [Resources(1, 1024)] * 7, 1, 3) is None
    assert instances_needed(room, [Resources(1, 1024)], 2, 2) == 2  # never below the floor
    assert instances_needed(None, [Resources(64, 10**6)], 1, 1) == 1  # an unknown type is not bounded
