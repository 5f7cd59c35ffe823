/** Fenced code blocks in a trace's Markdown, found by a CommonMark parser. */
import MarkdownIt from 'markdown-it';

export interface CodeBlock {
  /** First word of the info string, lowercased; null for an untagged fence. */
  language: string | null;
  /** 1-based line of the opening fence in the Markdown; the content starts on the next line. */
  line: number;
  content: string;
  closed: boolean;
}

// CommonMark's own parser, so containers are honoured: a fence inside a blockquote or a list item is
// found (its `>` markers and item indent stripped from the content), a "fence" indented four spaces
// is an indented code block, and inline ``` code is not a fence. Raw HTML stays text (html: false),
// so a fence right after a `<details>` line is still a fence.
const markdownParser = new MarkdownIt({ html: false });

export function extractCodeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (const token of markdownParser.parse(markdown, {})) {
    if (token.type !== 'fence' || !token.map) continue;
    const [start, end] = token.map;
    // The map spans the opening fence, the content and, when there is one, the closing fence; a
    // fence left open runs to the end of its container. Each content line ends with \n except a
    // last one at the end of the document.
    const { content } = token;
    const contentLines = content === '' ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
    const word = markdownParser.utils.unescapeAll(token.info).trim().split(/\s+/)[0] ?? '';
    blocks.push({
      language: word === '' ? null : word.toLowerCase(),
      line: start + 1,
      content: content.endsWith('\n') ? content.slice(0, -1) : content,
      closed: end - start === contentLines + 2,
    });
  }
  return blocks;
}
