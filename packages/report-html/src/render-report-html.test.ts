import { describe, expect, it } from 'vitest';
import { clientBundle } from './client-bundle.js';
import { renderReportHtml } from './render-report-html.js';

function embedded(html: string): unknown {
  const match = /<script type="application\/json" id="report-view">([\s\S]*?)<\/script>/.exec(html);
  return JSON.parse(match![1]!);
}

describe('renderReportHtml', () => {
  it('case 1: one file that loads nothing from the network', () => {
    const html = renderReportHtml({ outputs: { y: { sqnrDb: 30, cosine: 0.999 } } });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).toContain("default-src 'none'");
    // The chart code is inside the page.
    expect(html).toContain(clientBundle().slice(-2000));
  });

  it('case 2: tables for the summary and the fallbacks, containers for the charts', () => {
    const html = renderReportHtml({
      outputs: { y: { sqnrDb: 30.123, cosine: 0.999, weightOnly: { sqnrDb: 40.5, cosine: 0.9999 } } },
      layers: [{ tensor: 't', sqnrDb: 30, order: 1 }],
      fallbackReasons: [{ node: 'erf_1', opType: 'Erf', reason: 'no VPU lowering' }],
    });
    expect(html).toContain('<td>30.12</td>');
    expect(html).toContain('<td>40.50</td>');
    expect(html).toContain('no VPU lowering');
    expect(html).toContain('id="chart-layers"');
    expect(html).not.toContain('id="sensitivity"');
  });

  it('case 3: a section without data says so', () => {
    const html = renderReportHtml({ outputs: {} });
    expect(html).toContain('This report has no per-layer metrics.');
    expect(html).toContain('This report lists no ops');
    expect(html).toContain('No CPU fallbacks');
    expect(html).not.toContain('id="chart-precision"');
  });

  it('case 4: report text is escaped and cannot end the embedded script', () => {
    const evil = '</script><img src=x onerror=alert(1)>';
    const html = renderReportHtml({ model: { file: evil }, layers: [{ tensor: evil, sqnrDb: 1 }] });
    expect(html).not.toContain('<img src=x');
    expect(embedded(html)).toMatchObject({ title: evil, layers: [{ tensor: evil }] });
  });
});
