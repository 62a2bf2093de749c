// The user's display preferences, kept in this browser.

export type Theme = "light" | "dark" | "contrast";

export interface Settings {
  theme: Theme;
  fontSize: number;
}

const key = "pythonide.settings";
const defaults: Settings = { theme: "light", fontSize: 15 };

export function loadSettings(): Settings {
  try {
    const s = JSON.parse(localStorage.getItem(key) ?? "{}");
    const theme: Theme = ["light", "dark", "contrast"].includes(s.theme) ? s.theme : matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : defaults.theme;
    const fontSize = Number.isFinite(s.fontSize) ? Math.min(28, Math.max(10, s.fontSize)) : defaults.fontSize;
    return { theme, fontSize };
  } catch {
    return { ...defaults };
  }
}

export function applySettings(s: Settings): void {
  document.documentElement.dataset.theme = s.theme;
  document.documentElement.style.setProperty("--code-size", `${s.fontSize}px`);
  try {
    localStorage.setItem(key, JSON.stringify(s));
  } catch {
    /* private mode: settings last for this page only */
  }
}
