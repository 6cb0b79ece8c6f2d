// Google Drive's pages read without a network: the confirm form, the older cookie and link
// tokens, the refusals (quota, access, missing), the download URL and its override, and the
// check that keeps a web page from being saved as a model.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  confirmFormUrl,
  confirmTokenFromCookies,
  confirmTokenFromHtml,
  cookieHeader,
  DRIVE_BASE_URL,
  driveBaseFromEnv,
  driveDownloadUrl,
  readDrivePage,
} from '../../models/drive';
import { isWebPage, looksLikeHtml } from '../../models/http';
import { ACCESS_PAGE, confirmFormPage, MISSING_PAGE, QUOTA_PAGE, SIGN_IN_PAGE, warningPage } from '../drive-pages';

const ID = '1pEhXmg--IWHaZOwHUFdh7TEJqt2qeuYg';
const PAGE = driveDownloadUrl(ID);
const UUID = '7d3b9d52-0c4f-4bd9-9c0e-3f1f2b6f4a11';
const FORM = confirmFormPage({
  action: 'https://drive.usercontent.google.com/download',
  id: ID,
  uuid: UUID,
  fileName: 'DAT_x4.pth',
});

test('the first request: BASE/download?id=ID&export=download, under a path prefix too', () => {
  assert.equal(PAGE.href, `https://drive.usercontent.google.com/download?id=${ID}&export=download`);
  assert.equal(
    driveDownloadUrl('abc', 'http://127.0.0.1:8080/mirror').href,
    'http://127.0.0.1:8080/mirror/download?id=abc&export=download',
  );
  assert.equal(
    driveDownloadUrl('abc', 'http://127.0.0.1:8080/mirror/').href,
    'http://127.0.0.1:8080/mirror/download?id=abc&export=download',
  );
});

test('UPSCALE_DRIVE_BASE_URL: https, or http on loopback only; anything else is refused by name', () => {
  assert.equal(driveBaseFromEnv({}), DRIVE_BASE_URL);
  assert.equal(driveBaseFromEnv({ UPSCALE_DRIVE_BASE_URL: ' ' }), DRIVE_BASE_URL);
  assert.equal(driveBaseFromEnv({ UPSCALE_DRIVE_BASE_URL: 'http://127.0.0.1:9/' }), 'http://127.0.0.1:9/');
  assert.equal(
    driveBaseFromEnv({ UPSCALE_DRIVE_BASE_URL: 'https://mirror.example/drive' }),
    'https://mirror.example/drive',
  );
  assert.throws(
    () => driveBaseFromEnv({ UPSCALE_DRIVE_BASE_URL: 'http://mirror.example' }),
    /UPSCALE_DRIVE_BASE_URL is 'http:\/\/mirror\.example'/,
  );
  assert.throws(() => driveBaseFromEnv({ UPSCALE_DRIVE_BASE_URL: 'not a url' }), /UPSCALE_DRIVE_BASE_URL/);
});

test('the confirm form: its action with the hidden inputs as the query, the other forms passed over', () => {
  const url = confirmFormUrl(FORM, PAGE);
  assert.ok(url);
  assert.equal(url.origin + url.pathname, 'https://drive.usercontent.google.com/download');
  assert.deepEqual(Object.fromEntries(url.searchParams), { id: ID, export: 'download', confirm: 't', uuid: UUID });
  // Single quotes, entities, a relative action that has a query of its own, attributes in any order.
  const other = `<html><body><FORM method='GET' action='/download?authuser=0&amp;x=1' id='download-form'>
    <input value='a&amp;b' name='uuid' type='HIDDEN'><input type="text" name="shown" value="no"></FORM></body></html>`;
  assert.equal(
    confirmFormUrl(other, PAGE)?.href,
    'https://drive.usercontent.google.com/download?authuser=0&x=1&uuid=a%26b',
  );
});

test('a form that posts, or sends the request to another site, or no form at all: no confirm URL', () => {
  assert.equal(confirmFormUrl(FORM.replace('download" method="get"', 'download" method="post"'), PAGE), null);
  assert.equal(
    confirmFormUrl(
      FORM.replace('https://drive.usercontent.google.com/download', 'https://evil.example/download'),
      PAGE,
    ),
    null,
  );
  assert.equal(
    confirmFormUrl(
      FORM.replace('https://drive.usercontent.google.com/download', 'http://drive.usercontent.google.com/download'),
      PAGE,
    ),
    null,
    'not down to http',
  );
  assert.equal(confirmFormUrl(warningPage(ID), PAGE), null);
  // A local imitation's page sends it back to the same local server.
  const local = new URL('http://127.0.0.1:5000/download?id=x&export=download');
  assert.equal(
    confirmFormUrl(
      confirmFormPage({ action: 'http://127.0.0.1:5000/download', id: 'x', uuid: 'u', fileName: 'f' }),
      local,
    )?.searchParams.get('uuid'),
    'u',
  );
  assert.equal(
    confirmFormUrl(
      confirmFormPage({ action: 'http://127.0.0.1:5001/download', id: 'x', uuid: 'u', fileName: 'f' }),
      local,
    ),
    null,
    'another port is another site',
  );
});

test('older pages: the download_warning cookie, the confirm link, and the cookies sent back', () => {
  const setCookie = [
    'NID=511=abc; expires=Fri, 01-Jan-2100 00:00:00 GMT; path=/; domain=.google.com; HttpOnly',
    `download_warning_13058876669334088843_${ID}=Tk_9-x; Domain=.drive.google.com; Path=/uc; Secure`,
  ];
  assert.equal(confirmTokenFromCookies(setCookie), 'Tk_9-x');
  assert.equal(confirmTokenFromCookies(['NID=1; path=/']), null);
  assert.equal(confirmTokenFromCookies(undefined), null);
  assert.equal(cookieHeader(setCookie), `NID=511=abc; download_warning_13058876669334088843_${ID}=Tk_9-x`);
  assert.equal(cookieHeader([]), undefined);
  assert.equal(confirmTokenFromHtml(warningPage(ID, 'Ab3_-z')), 'Ab3_-z');
  assert.equal(confirmTokenFromHtml('<a href="/uc?export=download&confirm=QQ&id=1">x</a>'), 'QQ');
  assert.equal(confirmTokenFromHtml(QUOTA_PAGE), null);
});

test('readDrivePage: the confirm step from the form, the cookie or the link, on the page that asked', () => {
  const form = readDrivePage(200, FORM, PAGE);
  assert.equal(form.kind, 'confirm');
  assert.equal(form.kind === 'confirm' && form.url.searchParams.get('uuid'), UUID);
  const cookie = readDrivePage(200, warningPage(ID), PAGE, [`download_warning_1_${ID}=CookieToken`]);
  assert.equal(cookie.kind === 'confirm' && cookie.url.href, `${PAGE.href}&confirm=CookieToken`);
  const link = readDrivePage(200, warningPage(ID, 'LinkToken'), PAGE);
  assert.equal(link.kind === 'confirm' && link.url.searchParams.get('confirm'), 'LinkToken');
  assert.equal(link.kind === 'confirm' && link.url.searchParams.get('id'), ID);
});

test('readDrivePage: the quota page whatever its status; access and sign-in; missing; anything else unknown', () => {
  for (const status of [200, 403, 429])
    assert.equal(readDrivePage(status, QUOTA_PAGE, PAGE).kind, 'quota', `quota at ${status}`);
  assert.equal(readDrivePage(429, '', PAGE).kind, 'quota');
  assert.equal(readDrivePage(403, ACCESS_PAGE, PAGE).kind, 'permission');
  assert.equal(readDrivePage(200, ACCESS_PAGE, PAGE).kind, 'permission');
  assert.equal(readDrivePage(200, SIGN_IN_PAGE, PAGE).kind, 'permission', 'a sign-in page served with 200');
  assert.equal(readDrivePage(401, '', PAGE).kind, 'permission');
  assert.equal(readDrivePage(403, '<html>Forbidden</html>', PAGE).kind, 'permission');
  assert.equal(readDrivePage(404, MISSING_PAGE, PAGE).kind, 'missing');
  assert.equal(readDrivePage(404, '', PAGE).kind, 'missing');
  assert.equal(readDrivePage(200, MISSING_PAGE, PAGE).kind, 'missing');
  assert.equal(readDrivePage(200, '<html><body>Something else</body></html>', PAGE).kind, 'unknown');
  // The sign-in link on the confirm page does not make it a refusal.
  assert.ok(FORM.includes('accounts.google.com/ServiceLogin'));
  assert.equal(readDrivePage(200, FORM, PAGE).kind, 'confirm');
});

test('a web page is told by its Content-Type and by its first bytes; model files are not', () => {
  assert.ok(isWebPage({ 'content-type': 'text/html; charset=utf-8' }));
  assert.ok(isWebPage({ 'content-type': 'application/xhtml+xml' }));
  assert.ok(!isWebPage({ 'content-type': 'application/octet-stream' }));
  assert.ok(!isWebPage({}));
  assert.ok(looksLikeHtml(Buffer.from('<!DOCTYPE html><html>')));
  assert.ok(looksLikeHtml(Buffer.from('\ufeff\n  <HTML lang="en">')));
  assert.ok(!looksLikeHtml(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00])), 'a .pth (zip)');
  assert.ok(!looksLikeHtml(Buffer.from([0x80, 0x02, 0x63, 0x63])), 'a legacy .pth (pickle)');
  // safetensors starts with its header's length: 316 is '<' then 0x01.
  assert.ok(
    !looksLikeHtml(Buffer.concat([Buffer.from([0x3c, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from('{"__metadata__":{}}')])),
  );
});
