"""D008 env vars: what the code reads, minus platform-provided names; tests and comments ignored."""

from __future__ import annotations

import pytest
from hivemind.analysis.detectors.env_vars import PLATFORM_ENV_VARS

CASES = [
    ({"package.json": {}, "server.js": "process.env.API_KEY; process.env['SECRET_TOKEN'];\n"
      "const { A_ONE, B_TWO: b = 1 } = process.env;\nprocess.env.PORT; process.env.NODE_ENV; process.env.HOME;\n"
      "// process.env.COMMENTED_OUT\n"}, ["API_KEY", "A_ONE", "B_TWO", "SECRET_TOKEN"]),
    ({"requirements.txt": "", "app.py": "import os\nos.environ['ONE']\nos.environ.get('TWO')\nos.getenv('THREE', 'x')\n"
      "from os import getenv, environ\ngetenv('FOUR')\nenviron.get('FIVE')\nos.getenv('PATH')\n# os.getenv('NOPE')\n"
      "if __name__ == '__main__':\n    pass\n"}, ["FIVE", "FOUR", "ONE", "THREE", "TWO"]),
    ({"go.mod": "module m\ngo 1.22\n", "main.go": 'package main\nimport "os"\nfunc main() {\n\tos.Getenv("GO_ONE")\n'
      '\tos.LookupEnv("GO_TWO")\n\tos.Getenv("HOME")\n}\n', "main_test.go": 'package main\nos.Getenv("IN_TEST")\n'},
     ["GO_ONE", "GO_TWO"]),
    ({"package.json": {}, "server.js": "x\n", ".env.example": "# comment\nEXAMPLE_ONE=1\nexport EXAMPLE_TWO=\nPORT=3000\n",
      "tests/app.test.js": "process.env.IN_TEST\n"}, ["EXAMPLE_ONE", "EXAMPLE_TWO"]),
]


@pytest.mark.parametrize(("files", "expected"), CASES)
def test_env_vars(analyze, files, expected) -> None:
    stack = analyze(files)
    assert stack.env_vars == expected
    assert stack.sources["env_vars"]


def test_platform_provided_names_are_never_listed(analyze) -> None:
    reads = "".join(f"process.env.{name};\n" for name in sorted(PLATFORM_ENV_VARS) if name.isidentifier())
    stack = analyze({"package.json": {}, "server.js": reads + "process.env.MINE;\n"})
    assert stack.env_vars == ["MINE"]
