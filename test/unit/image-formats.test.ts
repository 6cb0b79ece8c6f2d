import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  checkOutputSize,
  extensionFor,
  formatForName,
  formatFromExtension,
  outputFormatFor,
} from '../../contract/formats';
import { plainSource } from '../plain-source';

test('formatFromExtension knows every output extension, in any case', () => {
  assert.equal(formatFromExtension('a/b/photo.png'), 'png');
  assert.equal(formatFromExtension('photo.JPG'), 'jpg');
  assert.equal(formatFromExtension('photo.jpeg'), 'jpg');
  assert.equal(formatFromExtension('photo.webp'), 'webp');
  assert.equal(formatFromExtension('scan.tif'), 'tif');
  assert.equal(formatFromExtension('scan.TIFF'), 'tif');
  assert.equal(formatFromExtension('photo.avif'), 'avif');
});

test('formatFromExtension returns null for formats we do not write', () => {
  assert.equal(formatFromExtension('anim.gif'), null);
  assert.equal(formatFromExtension('old.bmp'), null);
  assert.equal(formatFromExtension('noextension'), null);
  assert.equal(formatFromExtension('archive.png.zip'), null);
});

test('outputFormatFor keeps the source format', () => {
  assert.equal(outputFormatFor(plainSource('png')), 'png');
  assert.equal(outputFormatFor(plainSource('jpeg')), 'jpg');
  assert.equal(outputFormatFor(plainSource('webp')), 'webp');
  assert.equal(outputFormatFor(plainSource('tiff')), 'tif');
  assert.equal(outputFormatFor(plainSource('avif')), 'avif');
});

test('outputFormatFor writes PNG for sources we cannot write back', () => {
  assert.equal(outputFormatFor(plainSource('gif')), 'png');
  assert.equal(outputFormatFor(plainSource('bmp')), 'png');
  assert.equal(outputFormatFor(plainSource('heif')), 'png');
  assert.equal(outputFormatFor(plainSource('svg')), 'png');
});

test('outputFormatFor honours an explicit request', () => {
  assert.equal(outputFormatFor(plainSource('png'), 'webp'), 'webp');
  assert.equal(outputFormatFor(plainSource('gif'), 'jpg'), 'jpg');
});

test('checkOutputSize accepts sizes at each limit', () => {
  checkOutputSize('webp', 16383, 16383);
  checkOutputSize('jpg', 65535, 100);
  checkOutputSize('avif', 16384, 16384);
  checkOutputSize('png', 200000, 200000);
  checkOutputSize('tif', 100000, 3);
});

test('checkOutputSize refuses sizes over the limit, naming it and suggesting PNG or TIFF', () => {
  assert.throws(
    () => checkOutputSize('webp', 16384, 10),
    /16384x10 pixels, but WebP allows at most 16383 pixels per side\. Choose PNG or TIFF/,
  );
  assert.throws(() => checkOutputSize('jpg', 10, 65536), /JPEG allows at most 65535 pixels per side.*PNG or TIFF/);
  assert.throws(() => checkOutputSize('avif', 16385, 16385), /AVIF allows at most 16384 pixels per side.*PNG or TIFF/);
});

test('checkOutputSize refuses sizes that are not whole positive numbers', () => {
  assert.throws(() => checkOutputSize('png', 0, 10), /not a valid image size/);
  assert.throws(() => checkOutputSize('png', 10.5, 10), /not a valid image size/);
});

test('extensionFor gives the dotted extension', () => {
  assert.equal(extensionFor('png'), '.png');
  assert.equal(extensionFor('jpg'), '.jpg');
  assert.equal(extensionFor('tif'), '.tif');
  assert.equal(extensionFor('avif'), '.avif');
  assert.equal(extensionFor('webp'), '.webp');
});

test('the output name decides the format; a format that disagrees, an unknown extension or none at all are refused', () => {
  assert.equal(formatForName('out.png', undefined), 'png');
  assert.equal(formatForName('OUT.JPEG', undefined), 'jpg');
  assert.equal(formatForName('out.jpeg', 'jpg'), 'jpg');
  assert.equal(formatForName('out.tiff', 'tif'), 'tif');
  assert.equal(formatForName('out', 'webp'), 'webp', 'no extension: the format asked for');
  assert.throws(
    () => formatForName('out.png', 'jpg'),
    /^Error: out\.png: is named as PNG \(\.png\) but the output format asked for \(--format\) is JPEG; rename the file or leave the format out$/,
  );
  assert.throws(
    () => formatForName('out.bmp', undefined),
    /^Error: out\.bmp: '\.bmp' is not a format Upscale writes; the output extensions are \.png \.jpg \.jpeg \.webp \.tif \.tiff \.avif$/,
  );
  assert.throws(() => formatForName('out.bmp', 'png'), /'\.bmp' is not a format Upscale writes/);
  assert.throws(
    () => formatForName('out', undefined),
    /^Error: out: has no extension, so its format is unknown; end it in one of \.png \.jpg.*or choose the output format \(--format\)$/,
  );
  // A template's literal extension, given by the caller, wins over dots in filled-in fields.
  assert.equal(formatForName('my.photo-big', 'webp', ''), 'webp');
  assert.equal(formatForName('photo@2.5x.png', undefined, '.png'), 'png');
});
