/**
 * Who may talk to the service worker. Only this extension's own contexts can
 * reach `runtime.onMessage` at all (no `externally_connectable` entries), but
 * each message kind is also tied to the part that may send it: steps and the
 * session question come from a content script in a tab; commands come from
 * the popup page and nothing else.
 */
export function isOwnContentScript(sender: chrome.runtime.MessageSender): boolean {
  return sender.id === chrome.runtime.id && sender.tab?.id !== undefined && isWebUrl(sender.url);
}

export function isOwnPopup(sender: chrome.runtime.MessageSender): boolean {
  return (
    sender.id === chrome.runtime.id && sender.url?.split(/[?#]/)[0] === chrome.runtime.getURL('popup.html')
  );
}

export function isWebUrl(url: string | undefined): url is string {
  return url !== undefined && /^https?:\/\//.test(url);
}
