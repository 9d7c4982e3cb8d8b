"""``cti pbxsim`` argument validation (the server itself is covered by the other tests)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from cti.errors import ValidationError
from cti.pbxsim.cli import register


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "1"], "give --secret or set CTI_PBXSIM_SECRET"),
        (["--secret", "x", "--rate", "-1"], "--rate must be >= 0"),
        (["--secret", "x", "--queue", "support"], "expected NAME=EXT"),
        (["--secret", "x", "--port", "70000"], "is not a TCP port"),
        (["--secret", "x", "--outcomes", "answer"], "--outcomes 'answer': expected OUTCOME="),
        (["--secret", "x", "--outcomes", "hello=1"], "unknown outcome 'hello'"),
        (["--secret", "x", "--talk-distribution", "pareto"], "'pareto' is not"),
        (["--secret", "x", "--machine", "2"], "machine: a share from 0 to 1"),
        (["--secret", "x", "--wrapup", "-1"], "--wrapup must be >= 0"),
        (["--secret", "x", "--agi", "http://x/survey"], "expected agi://HOST[:PORT]/SCRIPT"),
        (["--secret", "x", "--agi", "agi://h:99x/s"], "the port is not a number"),
        (["--secret", "x", "--agi", "agi://h/s", "--respondents", "sing=1"], "answer|pause"),
        (["--secret", "x", "--agi", "agi://h/s", "--respondents", "answer=-1"], "must be >= 0"),
    ],
)
def test_bad_arguments_fail_with_a_clear_error(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CTI_PBXSIM_SECRET", raising=False)
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Keep ``pbxsim`` a sub-command."""

    result = CliRunner().invoke(app, ["pbxsim", *args])
    assert isinstance(result.exception, ValidationError)
    assert message in result.exception.message


def test_an_agi_url_is_read_as_the_dialplan_writes_it() -> None:
    from cti.pbxsim.agi import AgiTarget
    from cti.pbxsim.cli import agi_setup

    assert AgiTarget.parse("agi://10.0.0.7/nps,spring,en") == AgiTarget(
        "10.0.0.7", 4573, "nps", ("spring", "en")
    )
    live = agi_setup("agi://127.0.0.1:4600/survey", "answer=1,hangup=1", seed=4)
    assert live is not None and live.target.port == 4600 and live.respondents.seed == 4
    assert (live.respondents.answer, live.respondents.hangup) == (1, 1)
    assert agi_setup(None, "answer=1", seed=0) is None
