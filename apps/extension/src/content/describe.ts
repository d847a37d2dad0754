/**
 * How a step names its element so it can be found again: a selector that
 * prefers stable hooks (test ids, ids, names, labels) over positions, the
 * element's role, and its visible text — never a field's value.
 */

const INTERACTIVE = 'a[href], button, input, select, textarea, summary, label, [role], [onclick], [tabindex]';

/** The element a person meant: the nearest interactive ancestor of what was hit. */
export function meaningfulTarget(target: EventTarget | null): Element | undefined {
  if (!(target instanceof Element)) return undefined;
  return target.closest(INTERACTIVE) ?? target;
}

export function selectorOf(element: Element): string {
  const stable = stableSelector(element);
  if (stable) return stable;
  const parts: string[] = [];
  let current: Element | null = element;
  while (current && current !== document.documentElement && parts.length < 8) {
    const anchor = stableSelector(current);
    if (anchor) {
      parts.unshift(anchor);
      break;
    }
    parts.unshift(positional(current));
    current = current.parentElement;
  }
  return parts.join(' > ');
}

function stableSelector(element: Element): string | undefined {
  const tag = element.tagName.toLowerCase();
  const candidates: string[] = [];
  for (const attribute of ['data-testid', 'data-test', 'data-qa']) {
    const value = element.getAttribute(attribute);
    if (value) candidates.push(`[${attribute}="${CSS.escape(value)}"]`);
  }
  // Ids that look generated (digits runs, hashes) change between loads: skipped.
  if (element.id && !/\d{3,}|[a-f0-9]{8,}/i.test(element.id)) candidates.push(`#${CSS.escape(element.id)}`);
  const name = element.getAttribute('name');
  if (name) candidates.push(`${tag}[name="${CSS.escape(name)}"]`);
  const label = element.getAttribute('aria-label');
  if (label) candidates.push(`${tag}[aria-label="${CSS.escape(label)}"]`);
  return candidates.find((selector) => {
    try {
      return document.querySelectorAll(selector).length === 1;
    } catch {
      return false;
    }
  });
}

function positional(element: Element): string {
  const tag = element.tagName.toLowerCase();
  const parent = element.parentElement;
  if (!parent) return tag;
  const same = [...parent.children].filter((sibling) => sibling.tagName === element.tagName);
  return same.length === 1 ? tag : `${tag}:nth-of-type(${same.indexOf(element) + 1})`;
}

const IMPLICIT_ROLES: Record<string, string> = {
  a: 'link',
  button: 'button',
  select: 'combobox',
  textarea: 'textbox',
  form: 'form',
  img: 'img',
  summary: 'button',
  nav: 'navigation',
  h1: 'heading',
  h2: 'heading',
  h3: 'heading',
  li: 'listitem',
  option: 'option',
};
const INPUT_ROLES: Record<string, string> = {
  button: 'button',
  submit: 'button',
  reset: 'button',
  checkbox: 'checkbox',
  radio: 'radio',
  range: 'slider',
  search: 'searchbox',
  number: 'spinbutton',
};

export function roleOf(element: Element): string {
  const explicit = element.getAttribute('role');
  if (explicit) return explicit.split(/\s+/)[0] ?? explicit;
  const tag = element.tagName.toLowerCase();
  if (tag === 'input') return INPUT_ROLES[(element as HTMLInputElement).type] ?? 'textbox';
  if (tag === 'a' && !element.hasAttribute('href')) return 'generic';
  return IMPLICIT_ROLES[tag] ?? 'generic';
}

/** The label a person reads: aria-label, a <label>, the visible text; a field's value never. */
export function textOf(element: Element): string {
  const aria = element.getAttribute('aria-label');
  if (aria) return clean(aria);
  if (element instanceof HTMLInputElement && ['button', 'submit', 'reset'].includes(element.type))
    return clean(element.value);
  if (isField(element))
    return clean(labelsOf(element).join(' ') || element.getAttribute('placeholder') || '');
  // What a person typed into an editable region is content, not a label.
  if ((element as HTMLElement).isContentEditable) return '';
  // biome-ignore lint/performance/useDomNodeTextContent: the visible text is wanted (innerText skips hidden nodes and scripts)
  const text = (element as HTMLElement).innerText ?? element.textContent ?? '';
  return clean(text || element.getAttribute('title') || element.getAttribute('alt') || '');
}

export function labelsOf(element: Element): string[] {
  const labels = (element as HTMLInputElement).labels;
  // biome-ignore lint/performance/useDomNodeTextContent: a label as shown, not its hidden parts
  return labels ? [...labels].map((label) => label.innerText || label.textContent || '') : [];
}

export function isField(
  element: Element,
): element is HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement {
  return (
    element instanceof HTMLInputElement ||
    element instanceof HTMLTextAreaElement ||
    element instanceof HTMLSelectElement
  );
}

const clean = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 200);
