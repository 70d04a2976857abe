"""Crash durability (issue 5): a writer killed at random moments, and a disk that fills up.

`writer` is the child process that writes through `Vault` and says what was saved;
`ledger` turns what it said and what the reopened vault holds into a verdict;
`rounds` runs kill/restart rounds, shared by the CI test and the soak (`soak`,
run by scripts/crash_soak); `fsize_limit` runs a command under RLIMIT_FSIZE.
"""
