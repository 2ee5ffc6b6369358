/** Text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON or JavaScript placed inside a <script> element: `<` becomes `\u003c` in JSON (so `</script>` cannot end the
 * element early), and the line separators U+2028 / U+2029 are escaped for older parsers.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** JavaScript source placed inside a <script> element: a `</script` in a string or regex is split. */
export function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}
