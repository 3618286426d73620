"""Benchmarks of crm_envs: the ``crm-bench`` CLI, the harness, throughput and reproduction."""
