// Pages in the manner of Google Drive's, for the Drive tests (unit and integration): the
// confirm page with its download form, the older warning page, and the refusals. Written for
// these tests after the flow's description, with the wording the downloader must recognise.

/** The current confirm page: "can't scan this file for viruses", and a GET form that downloads it. */
export function confirmFormPage(o: {
  readonly action: string;
  readonly id: string;
  readonly uuid: string;
  readonly fileName: string;
}): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Google Drive - Virus scan warning</title></head>
<body><div class="uc-main"><a href="https://accounts.google.com/ServiceLogin?continue=x">Sign in</a>
<form class="search" action="/search" method="get"><input type="hidden" name="q" value="decoy"></form>
<div id="uc-text"><p class="uc-warning-caption">Google Drive can't scan this file for viruses.</p>
<p class="uc-warning-subcaption"><span class="uc-name-size"><a href="/open?id=${o.id}">${o.fileName}</a> (148M)</span> is too large for Google to scan for viruses. Would you still like to download this file?</p>
<form id="download-form" action="${o.action}" method="get"><input type="submit" id="uc-download-link" class="jfk-button" value="Download anyway"/>
<input type="hidden" name="id" value="${o.id}"><input type="hidden" name="export" value="download"><input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="${o.uuid}"></form>
</div></div></body></html>`;
}

/** The older warning page; with a token, its "download anyway" link carries it (else only the cookie does). */
export function warningPage(id: string, token?: string): string {
  const link = token
    ? `<a id="uc-download-link" href="/uc?export=download&amp;confirm=${token}&amp;id=${id}">Download anyway</a>`
    : '';
  return `<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
<p class="uc-warning-caption">Google Drive can't scan this file for viruses.</p>${link}</body></html>`;
}

export const QUOTA_PAGE = `<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>
<p class="uc-error-caption">Sorry, you can't view or download this file at this time.</p>
<p class="uc-error-subcaption">Too many users have viewed or downloaded this file recently. Please try accessing the file again later.
If the file you are trying to access is particularly large or is shared with many people, it may take up to 24 hours to be able to view or download the file.</p></body></html>`;

export const ACCESS_PAGE = `<!DOCTYPE html><html><head><title>Google Drive</title></head><body>
<h1>You need access</h1><p>Ask for access, or switch to an account with access.</p><button>Request access</button></body></html>`;

export const SIGN_IN_PAGE = `<!DOCTYPE html><html><head><title>Sign in - Google Accounts</title></head><body>
<form action="https://accounts.google.com/v3/signin/identifier" method="post"><input type="email" name="identifier"></form></body></html>`;

export const MISSING_PAGE = `<!DOCTYPE html><html><head><title>Google Drive - Page Not Found</title></head><body>
<p>Sorry, the file you have requested does not exist.</p><p>Make sure that you have the correct URL and the file exists.</p></body></html>`;
