// Light/dark theme: follows prefers-color-scheme unless the user picked one.
export type ThemeChoice = "system" | "light" | "dark";
const KEY = "bergamot.theme";

export function loadTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    if (v === "light" || v === "dark") return v;
  } catch {
    /* ignore */
  }
  return "system";
}

export function applyTheme(choice: ThemeChoice) {
  const root = document.documentElement;
  if (choice === "system") root.removeAttribute("data-theme");
  else root.setAttribute("data-theme", choice);
  try {
    if (choice === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    /* ignore */
  }
}

export function nextTheme(c: ThemeChoice): ThemeChoice {
  return c === "system" ? "light" : c === "light" ? "dark" : "system";
}
