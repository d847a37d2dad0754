import ReactMarkdown from 'react-markdown';

/**
 * An agent's reply as markdown. react-markdown builds React elements from the
 * markdown's syntax tree: raw HTML in the text is not rendered as HTML (no
 * rehype-raw, no dangerouslySetInnerHTML), and link URLs other than http(s),
 * mailto and relative ones are dropped by its default `urlTransform`. Images
 * are not shown: the window may load nothing from elsewhere.
 */
export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        skipHtml
        disallowedElements={['img']}
        unwrapDisallowed
        components={{
          a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noopener noreferrer" />,
        }}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
