// Start-up: ask who is logged in, then show the login screen or the IDE.
import "./style.css";
import { api, ApiError, type Me } from "./api";
import { applySettings, loadSettings } from "./settings";
import { clear, h } from "./dom";
import { loginForm } from "./login";

const root = document.getElementById("app")!;
applySettings(loadSettings());

// The IDE (CodeMirror and the rest) loads while the login form shows, so the
// first screen needs only this small file.
const loadApp = () => import("./app");

async function startApp(me: Me): Promise<void> {
  try {
    const app = await loadApp();
    app.startApp(root, me, showLogin);
  } catch {
    clear(root);
    root.append(h("p", { class: "loading", role: "alert" }, "The editor could not be loaded. Check your connection and reload the page."));
  }
}

function showLogin(): void {
  clear(root);
  const firstRun = h("section", { class: "first-run", hidden: true, "aria-label": "First run" });
  root.append(
    h("main", { class: "login-page" },
      h("div", { class: "login-card" },
        h("h1", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "py"), "pythonide"),
        h("p", { class: "muted" }, "Log in with the username and password from your teacher."),
        loginForm((me) => void startApp(me)),
        firstRun,
      ),
    ),
  );
  // A new server: tell whoever started it where the first account is.
  api.setup().then((s) => {
    if (!s.first_run) return;
    firstRun.hidden = false;
    firstRun.append(
      h("h2", {}, "Setting up this server?"),
      h("p", {}, "When it started for the first time, ", h("code", {}, "pythonide serve"), " made a teacher account, ",
        h("strong", {}, s.username ?? "admin"), ", and printed its password in the terminal (or the server's log)."),
      h("p", {}, "Lost it? Run ", h("code", {}, `pythonide user passwd ${s.username ?? "admin"}`), " beside the server for a new one. Then add your class under Class → Users."),
    );
  }, () => { /* the form works without the hint */ });
}

async function boot(): Promise<void> {
  try {
    const me = await api.me();
    if (me) await startApp(me);
    else {
      showLogin();
      void loadApp();
    }
  } catch (e) {
    showLogin();
    const msg = root.querySelector(".login-error");
    if (msg) msg.textContent = e instanceof ApiError ? e.message : String(e);
  }
}

void boot();
