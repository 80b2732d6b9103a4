import { render } from "preact";
import { Root } from "./app";
import { App } from "./store/app";
import { applyTheme, loadTheme } from "./theme";
import "./styles.css";

applyTheme(loadTheme());
const app = new App();
render(<Root app={app} />, document.getElementById("app")!);
void app.boot();
