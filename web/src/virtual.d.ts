/** The English catalogue, merged from web/locales/en/*.json by the build (scripts/build-console.mjs). */
declare module "concordat:locale/en" {
  const catalogue: Readonly<Record<string, string | Partial<Record<Intl.LDMLPluralRule, string>>>>;
  export default catalogue;
}
