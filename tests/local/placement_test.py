"""Placement of inference component copies on an endpoint's instances (pure)."""

from __future__ import annotations

from providers.local.placement import Capacity, Need, capacity, fits, instances_needed, need_of


def test_instance_sizes_come_from_the_table() -> None:
    assert capacity("ml.m5.large") == Capacity(2.0, 8192)
    assert capacity("ml.m5.xlarge") == Capacity(4.0, 16384)
    assert capacity("ml.g5.xlarge") == Capacity(4.0, 16384)
    assert capacity("ml.c5.2xlarge") == Capacity(8.0, 16384)
    assert capacity("ml.unknown.size") is None


def test_a_copy_reserves_its_cores_and_minimum_memory() -> None:
    spec = {"ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1.5, "MinMemoryRequiredInMb": 2048}}
    assert need_of(spec) == Need(1.5, 2048)


def test_copies_fit_within_cpu_and_memory_of_each_instance() -> None:
    room = Capacity(2.0, 8192)
    assert fits(room, [Need(1, 1024)] * 2, 1)
    assert not fits(room, [Need(1, 1024)] * 3, 1)
    assert not fits(room, [Need(0.25, 5000)] * 2, 1)  # memory, not cores, is short
    assert fits(room, [Need(1.5, 1024), Need(0.5, 1024), Need(1.5, 1024), Need(0.5, 1024)], 2)
    assert not fits(room, [Need(1.5, 1024)] * 3, 2)  # no copy is split across instances


def test_managed_scaling_adds_instances_up_to_its_maximum() -> None:
    room = Capacity(2.0, 8192)
    assert instances_needed(room, [Need(1, 1024)] * 3, 1, 3) == 2
    assert instances_needed(room, [Need(1, 1024)] * 7, 1, 3) is None
    assert instances_needed(room, [Need(1, 1024)], 2, 2) == 2  # never below the floor
    assert instances_needed(None, [Need(64, 10**6)], 1, 1) == 1  # an unknown type is not bounded
