"""Rollout engines (training/rollout): same results whatever the backend, worker count or failure."""

import os
import signal

import numpy as np
import pytest

from chromatic.compiler.ir import Activation
from chromatic.training.policy_params import DenseNet, initial_params, make_spec
from chromatic.training.rollout.engine import BatchSizer, InlineEngine, make_engine
from chromatic.training.rollout.worker import Job

ENV = "Pendulum-v1"


def job_and_tasks(n=12, horizon=60, activation=Activation.TANH):
    rng = np.random.default_rng(0)
    spec = make_spec("chromatic", (3, 5, 1), 4, rng, hidden_activation=activation)
    theta = initial_params(spec, rng)
    job = Job(ENV, spec, theta, 0.1, np.zeros(3), np.ones(3), horizon, True)
    tasks = [(i, 100 + i, 1 if i % 3 else -1, 0, 7 * i) for i in range(n)]
    return job, tasks


def returns(results):
    return [(r.index, r.ret, r.steps, r.obs_count, tuple(r.obs_sum)) for r in results]


@pytest.fixture(scope="module")
def reference():
    job, tasks = job_and_tasks()
    engine = InlineEngine()
    try:
        return returns(engine.run(job, tasks))
    finally:
        engine.close()


def test_perturbations_differ_and_results_come_back_in_task_order(reference):
    assert [r[0] for r in reference] == list(range(12))
    assert len({r[1] for r in reference}) == 12
    assert all(r[2] == 60 and r[3] == 60 for r in reference)


@pytest.mark.parametrize("workers", [1, 2])
def test_local_backend_equals_inline_for_any_worker_count(reference, workers):
    job, tasks = job_and_tasks()
    engine = make_engine("local", workers)
    try:
        assert returns(engine.run(job, tasks)) == reference
        engine.sizer.seconds_per_task = 1e-4  # forces batches of several tasks
        assert returns(engine.run(job, tasks)) == reference
    finally:
        engine.close()


def test_local_workers_build_the_specs_relu_network(reference):
    """A relu job's returns are the relu network's, in a worker process as in the driver."""
    job, tasks = job_and_tasks(activation=Activation.RELU)
    inline = InlineEngine()
    engine = make_engine("local", 2)
    try:
        relu = returns(inline.run(job, tasks))
        assert returns(engine.run(job, tasks)) == relu
    finally:
        engine.close()
        inline.close()
    assert [r[1] for r in relu] != [r[1] for r in reference]
    net, x = DenseNet(job.spec, job.theta), np.array([0.3, -2.0, 1.0])
    w, b = net.weights, net.biases
    assert np.array_equal(net(x), np.tanh(w[1] @ np.maximum(w[0] @ x + b[0], 0) + b[1]))


def test_local_backend_replaces_a_dead_worker(reference):
    job, tasks = job_and_tasks()
    engine = make_engine("local", 2)
    try:
        engine.run(job, tasks)
        os.kill(engine._workers[0].proc.pid, signal.SIGKILL)
        engine._workers[0].proc.join(5)
        assert returns(engine.run(job, tasks)) == reference
        assert engine.restarts == 1
    finally:
        engine.close()


def test_batches_reach_the_minimum_duration_but_keep_every_worker_busy():
    sizer = BatchSizer(min_seconds=0.03)
    tasks = [(i, 0, 0, 0, 0) for i in range(100)]
    assert all(len(b) == 1 for b in sizer.batches(tasks, 4))
    sizer.observe(10, 0.01)  # 1 ms per task -> 30 per batch, capped at 100 / (2 * 4)
    batches = sizer.batches(tasks, 4)
    assert [t for b in batches for t in b] == tasks
    assert max(len(b) for b in batches) == 13
    sizer = BatchSizer(min_seconds=0.03)
    sizer.observe(1, 0.005)
    assert len(sizer.batches(tasks, 1)[0]) == 6


@pytest.mark.slow
def test_ray_backend_survives_a_killed_actor(reference):
    ray = pytest.importorskip("ray")
    from chromatic.training.rollout.ray_backend import RayEngine

    job, tasks = job_and_tasks()
    killed = []

    def kill_first_actor(engine, done_batches):
        if not killed:  # mid-iteration: one batch back, others in flight or pending
            ray.kill(engine.actors[0], no_restart=True)
            killed.append(done_batches)

    engine = RayEngine(2, on_result=kill_first_actor,
                       init_kwargs={"_node_ip_address": "127.0.0.1"})  # loopback only
    try:
        assert returns(engine.run(job, tasks)) == reference
        assert killed and engine.restarts >= 1
        assert returns(engine.run(job, tasks)) == reference
    finally:
        engine.close()


def test_local_backend_stops_when_workers_keep_dying_and_names_the_cause():
    from chromatic.errors import ChromaticError

    job, tasks = job_and_tasks()
    from dataclasses import replace

    crashing = replace(job, env_id="tests.crashing_env:Crash-v0")
    engine = make_engine("local", 1)
    try:
        with pytest.raises(ChromaticError, match="died 4 times in a row.*exit code 3"):
            engine.run(crashing, tasks)
    finally:
        engine.close()


def test_ray_address_that_nothing_listens_on_is_one_line_within_seconds():
    import time

    from chromatic.errors import ChromaticError
    from chromatic.training.rollout.ray_backend import check_reachable

    t0 = time.perf_counter()
    with pytest.raises(ChromaticError, match="cannot reach a Ray cluster at 127.0.0.1:1"):
        check_reachable("127.0.0.1:1", timeout=2)
    assert time.perf_counter() - t0 < 3
    with pytest.raises(ChromaticError, match="expected HOST:PORT"):
        check_reachable("nonsense")
