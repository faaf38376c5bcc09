"""What every channel renderer shares: a template per locale, a limit, and how to count it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar

from bot.render.engine import render_fitted, template
from bot.statement import Statement


class ChannelRenderer:
    """Turns a statement into this channel's text. Subclasses set the class attributes."""

    name: ClassVar[str]
    max_length: ClassVar[int]
    # How many compactness levels its templates know (0 = the fullest wording).
    levels: ClassVar[int] = 3
    # Whether the staff-only instructions may appear (never on a public channel).
    internal: ClassVar[bool] = False
    # Whether the text is one paragraph (X, banner, phone) or keeps its lines (messages).
    single_line: ClassVar[bool] = False
    # The package whose `templates/` holds `<name>.<locale>.j2` (the channel's own folder).
    templates_package: ClassVar[str] = "bot.render"

    def length(self, text: str) -> int:
        """Length as the channel itself counts it."""
        return len(text)

    def clean(self, text: str, locale: str) -> str:
        """Adapt a person's free text to the medium before it is fitted (e.g. speakable)."""
        return text

    def render(
        self,
        statement: Statement,
        now: dt.datetime,
        overrides: Mapping[str, str] | None = None,
    ) -> str:
        return render_fitted(
            template(self.name, statement.locale, overrides, package=self.templates_package),
            statement,
            now,
            max_length=self.max_length,
            length=self.length,
            levels=self.levels,
            single_line=self.single_line,
            clean=lambda text: self.clean(text, statement.locale),
        )
