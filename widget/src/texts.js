// The widget's own words come from the text catalogue (texts/<language>.yml, keys widget.*), bundled at build
// time: `kuanxin texts widget` writes texts.json (generated, not in git). The lender's facts are already filled
// in; {title} and {name} are filled here.
import CATALOGUE from "./texts.json";

export const LANGUAGES = Object.keys(CATALOGUE);

export function words(language) {
  return CATALOGUE[language] || CATALOGUE.zh;
}

export function fill(template, values = {}) {
  return String(template ?? "").replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
