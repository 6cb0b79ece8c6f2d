// Real photographs for tests that need natural image statistics: Debian's OpenCV sample
// data (package opencv-doc, installed by .ci/run). A missing photo fails the test with
// the install command, rather than skipping it.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const OPENCV_SAMPLES = process.env.UPSCALE_PHOTOS ?? '/usr/share/doc/opencv-doc/examples/data';

export function photo(name: string): string {
  const file = path.join(OPENCV_SAMPLES, name);
  if (!fs.existsSync(file)) {
    throw new Error(
      `${file} is missing: install Debian's opencv-doc (apt-get install opencv-doc), as .ci/run does, or set UPSCALE_PHOTOS`,
    );
  }
  return file;
}
