"""Input helpers for the workshop views: Enter submits, menus keep their choice, one-line labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anywidget
import ipywidgets as w
from traitlets import Bool, Unicode

_ENTRY_ESM = """
export default {
  render({ model, el }) {
    const input = document.createElement("input");
    input.type = "text";
    input.className = "srca-entry";
    input.style.cssText = "width:100%;box-sizing:border-box;padding:6px 8px;font:inherit";
    const sync = () => {
      input.placeholder = model.get("placeholder");
      input.disabled = model.get("disabled");
      input.title = model.get("tooltip");
    };
    sync();
    input.value = model.get("value");
    const pending = new Map();
    let next = 0;
    const restore = (text) => {
      // Never lose what was typed: put it back, before anything typed since.
      input.value = input.value ? text + " " + input.value : text;
      input.classList.add("srca-entry-unsaved");
      model.set("value", input.value);
      model.save_changes();
    };
    input.addEventListener("input", () => {
      input.classList.remove("srca-entry-unsaved");
      model.set("value", input.value);
      model.save_changes();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) { return; }
      event.preventDefault();
      const text = input.value, id = ++next;
      // The submit carries the whole text: nothing depends on keystrokes reaching the kernel first.
      model.send({ event: "submit", text: text, id: id });
      if (model.get("clear_on_submit")) {
        input.value = "";
        const timer = setTimeout(() => { if (pending.delete(id)) { restore(text); } }, 10000);
        pending.set(id, { text: text, timer: timer });
      }
    });
    model.on("msg:custom", (msg) => {
      const item = pending.get(msg.id);
      if (!item) { return; }
      clearTimeout(item.timer);
      pending.delete(msg.id);
      if (msg.event === "kept") { restore(item.text); }
    });
    model.on("change:value", () => {
      if (!pending.size && document.activeElement !== input) { input.value = model.get("value"); }
    });
    model.on("change:placeholder change:disabled change:tooltip", sync);
    el.appendChild(input);
  },
};
"""


class EntryBox(anywidget.AnyWidget):
    """A one-line text box whose Enter sends the whole text with it, so nothing typed is lost or
    glued to the next entry however fast people type (ipywidgets' ``Text`` may submit before its
    last keystrokes reach the kernel).

    With ``clear_on_submit`` the box empties at once and gets the text back, marked, when the
    callback did not take it (left ``value`` as it was: a refusal or an error) or no answer came
    within 10 s (a lost connection). A callback takes the text by setting ``value`` to ``""``.
    """

    _esm = _ENTRY_ESM
    value = Unicode("").tag(sync=True)
    placeholder = Unicode("").tag(sync=True)
    tooltip = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)
    clear_on_submit = Bool(True).tag(sync=True)

    def __init__(self, placeholder: str = "", **kwargs: Any) -> None:
        super().__init__(placeholder=placeholder, **kwargs)
        self._callbacks: list[Callable[..., Any]] = []
        self.on_msg(self._message)

    def on_submit(self, callback: Callable[..., Any]) -> None:
        """Call ``callback(box)`` with the submitted text in ``value``."""
        self._callbacks.append(callback)

    def submit(self, text: str) -> bool:
        """What Enter does (tests call it directly): True when a callback took the text."""
        self.value = text
        for callback in self._callbacks:
            callback(self)
        return self.value != text or not self.clear_on_submit

    def _message(self, _: Any, content: dict[str, Any], buffers: Any) -> None:
        if content.get("event") != "submit":
            return
        taken = self.submit(str(content.get("text", "")))
        self.send({"event": "stored" if taken else "kept", "id": content.get("id")})


def on_enter(box: EntryBox, callback: Callable[..., Any]) -> None:
    """Call ``callback`` when Enter is pressed in ``box`` (never when it merely loses focus)."""
    box.on_submit(callback)


def entry_box(placeholder: str, *, keep_text: bool = False, width: str = "100%") -> EntryBox:
    """An :class:`EntryBox`; ``keep_text`` for an editor whose text stays after Enter."""
    return EntryBox(placeholder, clear_on_submit=not keep_text, layout=w.Layout(width=width))


def shorten(text: str, limit: int = 70) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut).

    Example:
        >>> shorten("Reps   pitch before they diagnose the problem", 20)
        'Reps pitch before t…'
    """
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def set_options(menu: w.Dropdown, options: Sequence[tuple[str, Any]], value: Any = None) -> bool:
    """Give ``menu`` new ``(label, value)`` options, keeping its choice when it is still there.

    The choice becomes ``value`` if given and present, else the current one, else the first option
    (ipywidgets alone would jump to the first option, or stay empty). Returns True if it changed.
    """
    before = menu.value
    options = list(options)
    if list(menu.options) != options:
        menu.options = options
    values = [v for _, v in options]
    if value is not None and value in values:
        target = value
    elif before in values:
        target = before
    else:
        target = values[0] if values else None
    if menu.value != target:
        menu.value = target
    return target != before
