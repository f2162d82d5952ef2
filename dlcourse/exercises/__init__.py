"""Self-checks for the chapters' code exercises.

Each ``check_*`` function takes the learner's attempt, tests it on fresh inputs against an
independent reference, prints what is wrong (never the expected answer) and returns ``True``
when the attempt passes. They never raise on a wrong or unfinished attempt, so a chapter with
its exercises left blank still runs top to bottom.
"""
