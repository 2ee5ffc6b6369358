export { renderReportHtml } from './render-report-html.js';
export { readReport, type ReportView } from './report-view.js';
