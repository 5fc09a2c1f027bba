// Markup for rpctl's HTML pages goes through hono's html`` template, which escapes every interpolated string, so a
// vault, a pair or an error message holding `<`, `&` or quotes arrives as text and can never open a tag.

import { html as honoHtml, type raw } from 'hono/html';

/** Markup that is safe to interpolate as is: built by html`` (its values escaped), or our own constant. */
export type Html = ReturnType<typeof raw>;

/** What a page interpolates: text and numbers (escaped), other markup, nothing (null, undefined, false), lists. */
type Part = Html | string | number | null | undefined | false | readonly Part[];

/** hono's html``, synchronous: the pages interpolate no promise, so the result is always ready. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  const markup = honoHtml(strings, ...values);
  if (markup instanceof Promise) throw new TypeError('html``: a promise was interpolated');
  return markup;
}
