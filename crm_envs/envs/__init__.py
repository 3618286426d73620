"""The environments of crm_envs, one subpackage per env family.

Each holds what its envs need to run; what belongs to the source paper rather than to the env
is in :mod:`crm_envs.papers`.
"""
