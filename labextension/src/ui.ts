// Small DOM helpers for the panels and dialogs (plain DOM keeps the extension light).
import { Widget } from '@lumino/widgets';

type Child = Node | string;

/** `<tag class=...>children</tag>`; `props` are set as properties (onclick, type, value...). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  children: Child[] = [],
  props: { [key: string]: unknown } = {}
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  Object.assign(node, props);
  node.append(...children);
  return node;
}

/** A dialog body of lines, kept as lines. */
export function lines(...text: string[]): Widget {
  const node = el('div', 'jp-nbcollab-lines', text.map(line => el('div', '', [line])));
  return new Widget({ node });
}

/** A labelled form field. */
export function field(label: string, input: HTMLElement): HTMLElement {
  return el('label', 'jp-nbcollab-field', [el('span', '', [label]), input]);
}
