"""The one error the local stack raises: a message for the operator that says what failed and where to look."""


class StackError(Exception):
    pass
