"""The environments of crm_envs, one subpackage per source paper."""
