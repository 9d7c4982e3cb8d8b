"""An access log that never writes bearer tokens.

WebSocket clients must send their token as ``?token=`` (browsers cannot set headers there),
and aiohttp's default access log prints the full request line. Pass this class as
``web.AppRunner(app, access_log_class=TokenSafeAccessLogger)``.
"""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

_TOKEN = re.compile(r"(?i)([?&]token=)[^&#\s]*")


def mask_tokens(text: str) -> str:
    """``/ws?token=abc&x=1`` → ``/ws?token=***&x=1``."""
    return _TOKEN.sub(r"\1***", text)


class TokenSafeAccessLogger(AbstractAccessLogger):
    """``METHOD path status bytes seconds`` with any ``token`` query value masked."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %.4fs",
            request.method,
            mask_tokens(request.path_qs),
            response.status,
            response.body_length,
            time,
        )
