// Modal dialogs built on <dialog>: focus is trapped and restored by the
// browser, Escape cancels, and every control has a label.
import { h } from "./dom";

export interface DialogButton {
  label: string;
  value: string;
  primary?: boolean;
  danger?: boolean;
}

/** open shows a modal with body and buttons and resolves to the value of the
 * button pressed, or "" when cancelled. */
export function open(title: string, body: Node, buttons: DialogButton[], onSubmitValue?: string): Promise<string> {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog", class: "dialog-form" });
    const heading = h("h2", { id: "dialog-title" }, title);
    const row = h("div", { class: "dialog-buttons" });
    for (const b of buttons) {
      row.appendChild(
        h(
          "button",
          { type: b.value === onSubmitValue ? "submit" : "button", value: b.value, class: b.primary ? "primary" : b.danger ? "danger" : "", "data-value": b.value },
          b.label,
        ),
      );
    }
    form.append(heading, body, row);
    const dlg = h("dialog", { "aria-labelledby": "dialog-title" }, form);
    let result = "";
    row.addEventListener("click", (e) => {
      const btn = (e.target as HTMLElement).closest("button");
      if (btn && btn.type === "button") {
        result = btn.dataset.value ?? "";
        dlg.close();
      }
    });
    form.addEventListener("submit", () => {
      result = onSubmitValue ?? "ok";
    });
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(result);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    const first = form.querySelector<HTMLElement>("input, textarea, select") ?? form.querySelector<HTMLElement>("button.primary, button.danger");
    first?.focus();
  });
}

export async function confirmDialog(title: string, message: string, okLabel: string, danger = false): Promise<boolean> {
  const v = await open(title, h("p", {}, message), [
    { label: "Cancel", value: "" },
    { label: okLabel, value: "ok", primary: !danger, danger },
  ], "ok");
  return v === "ok";
}

/** ask prompts for one line of text; null when cancelled. */
export async function ask(title: string, label: string, initial = "", okLabel = "OK"): Promise<string | null> {
  const input = h("input", { type: "text", id: "dialog-input", value: initial, autocomplete: "off", spellcheck: "false" });
  const body = h("div", { class: "field" }, h("label", { for: "dialog-input" }, label), input);
  setTimeout(() => {
    const dot = initial.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : initial.length);
  }, 0);
  const v = await open(title, body, [
    { label: "Cancel", value: "" },
    { label: okLabel, value: "ok", primary: true },
  ], "ok");
  return v === "ok" ? input.value.trim() : null;
}

export function info(title: string, body: Node): Promise<string> {
  return open(title, body, [{ label: "Close", value: "ok", primary: true }], "ok");
}
