import type { ScreenProps } from "../app.js";
import { t } from "../i18n.js";
import { Screen } from "../ui/kit.js";

export function FindScreen(_props: ScreenProps) {
  return <Screen title={t("nav.find")}>{null}</Screen>;
}
