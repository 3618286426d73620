"""Benchmarks of crm_envs: the ``crm-bench`` CLI, throughput and (later) the harness."""
