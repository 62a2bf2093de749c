// The login form, used on the first screen and again (in a dialog over the
// work) when a session has expired, so nothing typed is lost.
import { api, ApiError, type Me } from "./api";
import { h } from "./dom";

/** loginForm renders a form that resolves with the user once logged in. */
export function loginForm(onDone: (me: Me) => void, opts: { username?: string; note?: string } = {}): HTMLFormElement {
  const user = h("input", { id: "login-user", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false", value: opts.username ?? "" });
  const pass = h("input", { id: "login-pass", name: "password", type: "password", autocomplete: "current-password", required: true });
  const msg = h("p", { class: "login-error", role: "alert", "aria-live": "assertive" });
  const btn = h("button", { type: "submit", class: "primary" }, "Log in");
  const form = h("form", { class: "login-form", "aria-label": "Log in" },
    opts.note ? h("p", { class: "login-note" }, opts.note) : null,
    h("div", { class: "field" }, h("label", { for: "login-user" }, "Username"), user),
    h("div", { class: "field" }, h("label", { for: "login-pass" }, "Password"), pass),
    msg,
    btn,
  );
  let countdown = 0;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (btn.disabled) return;
    msg.textContent = "";
    btn.disabled = true;
    btn.textContent = "Logging in…";
    try {
      const me = await api.login(user.value.trim(), pass.value);
      onDone(me);
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        let left = err.retryAfter || 60;
        const tick = () => {
          msg.textContent = `Too many tries. For safety, please wait ${left} second${left === 1 ? "" : "s"} before trying again.`;
          if (left-- <= 0) {
            clearInterval(countdown);
            msg.textContent = "You can try again now.";
            btn.disabled = false;
          }
        };
        clearInterval(countdown);
        tick();
        countdown = window.setInterval(tick, 1000);
        btn.textContent = "Log in";
        return;
      }
      if (err instanceof ApiError && err.status === 401) {
        msg.textContent = err.message || "Wrong username or password.";
        pass.select();
      } else if (err instanceof ApiError) {
        msg.textContent = err.message;
      } else {
        msg.textContent = String(err);
      }
    }
    btn.disabled = false;
    btn.textContent = "Log in";
  });
  setTimeout(() => (opts.username ? pass : user).focus(), 0);
  return form;
}
