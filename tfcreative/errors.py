"""Errors of the Python API that are about one argument a caller passed.

The message speaks the library's language: it names the function's own argument (e.g.
`abc_path: ~/tunes: no such file or folder of .abc tunes`). The command line knows which of its
flags fed that argument and reports `--abc: ...` instead (tfcreative/cli/common.py).
"""

from __future__ import annotations

from tfcreative.config import RUN_MODEL


class InvalidArgument(ValueError):
    """`argument` has a value the function cannot use; `detail` says what and what was
    expected."""

    def __init__(self, argument: str, detail: str):
        super().__init__(f"{argument}: {detail}")
        self.argument = argument
        self.detail = detail

    def about(self, argument: str) -> InvalidArgument:
        """The same error about another argument: the caller's, which fed this one (a loader's
        `path` that named a preset, say)."""
        error = type(self).__new__(type(self))
        error.__dict__.update(self.__dict__)
        error.args, error.argument = (f"{argument}: {self.detail}",), argument
        return error


class ArgumentPathNotFound(InvalidArgument, FileNotFoundError):
    """A path argument that does not exist (also a FileNotFoundError)."""


class ArgumentPathExists(InvalidArgument, FileExistsError):
    """A path argument naming something to create that exists already (also a
    FileExistsError)."""


class WrongModelType(InvalidArgument):
    """A model file (or preset) of another kind than asked for; `found` names the class it
    holds."""

    def __init__(self, path: str, found: str, expected: str, argument: str = "path"):
        super().__init__(argument, f"{path}: holds a {found} model, not a {expected}")
        self.found, self.expected = found, expected


class RunDirectoryInUse(InvalidArgument):
    """Another training holds the run directory (its lock file names its PID and host)."""

    def __init__(self, run_dir: str, owner: str, lock: str):
        super().__init__("run_dir", f"{run_dir}: in use by another training ({owner}; its lock "
                                    f"file: {lock}): let it finish, or choose another run "
                                    "directory")


class FinishedRun(InvalidArgument):
    """The run directory holds a finished run (its final model): never trained again in place
    (it would start from scratch and append to its history)."""

    def __init__(self, run_dir: str):
        super().__init__("run_dir", f"{run_dir}: holds a finished run ({RUN_MODEL}): choose "
                                    "another run directory")
        self.run_dir = run_dir
