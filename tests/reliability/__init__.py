"""Reliability and security of fence_clc: the fault matrix, bad input,
secrets, concurrency and delay (make reliability)."""
