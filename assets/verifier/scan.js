/* The camera: BarcodeDetector where the browser has it (Android Chrome), otherwise the vendored
 * zxing-wasm reader, loaded on first use from this server (never a CDN).
 * Exposes window.BoothScan. */
(function () {
  'use strict';

  var ZXING_DIR = '/verifier/vendor/zxing-wasm/';
  var FRAME_MS = 150;
  var MAX_SIDE = 960;
  var zxingReady = null;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = function () {
        reject(new Error('load ' + src));
      };
      document.head.appendChild(s);
    });
  }

  /** The zxing-wasm reader with its .wasm from this server (its default is a CDN). */
  function zxing() {
    if (!zxingReady) {
      zxingReady = loadScript(ZXING_DIR + 'zxing-reader.js').then(function () {
        var z = window.ZXingWASM;
        return Promise.resolve(z.prepareZXingModule({
          overrides: {
            locateFile: function (path) {
              return ZXING_DIR + path;
            }
          },
          fireImmediately: true
        })).then(function () {
          return z;
        });
      });
      zxingReady.catch(function () {
        zxingReady = null;
      });
    }
    return zxingReady;
  }

  function nativeDetector() {
    if (!('BarcodeDetector' in window)) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf('qr_code') < 0) return null;
      var detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      return function (video) {
        return detector.detect(video).then(function (found) {
          return found.length ? found[0].rawValue : null;
        });
      };
    }, function () {
      return null;
    });
  }

  function zxingDetector() {
    var canvas = document.createElement('canvas');
    var ctx = canvas.getContext('2d');
    return zxing().then(function (z) {
      return function (video) {
        var w = video.videoWidth;
        var h = video.videoHeight;
        if (!w || !h) return Promise.resolve(null);
        var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
        canvas.width = Math.round(w * scale);
        canvas.height = Math.round(h * scale);
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
        return z.readBarcodes(image, {
          formats: ['QRCode'],
          tryHarder: true,
          maxNumberOfSymbols: 1,
          textMode: 'Plain'
        }).then(function (found) {
          return found.length && found[0].isValid ? found[0].text : null;
        });
      };
    });
  }

  /** A detector for this browser: resolves to a function (video → Promise<text|null>). */
  function detector(preferZxing) {
    if (preferZxing) return zxingDetector();
    return nativeDetector().then(function (d) {
      return d || zxingDetector();
    });
  }

  function cameraError(e) {
    var name = e && e.name;
    if (name === 'NotAllowedError' || name === 'SecurityError') return 'camera.denied';
    if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'camera.none';
    return 'camera.failed';
  }

  /** Starts the camera into `video` and calls onText(text) once a QR code is read, or
   * onError(key) with a strings key. Returns a function that stops everything. */
  function start(video, onText, onError, options) {
    var stopped = false;
    var stream = null;
    var timer = null;
    function stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (stream) stream.getTracks().forEach(function (t) {
        t.stop();
      });
      video.srcObject = null;
    }
    var media = navigator.mediaDevices;
    if (!media || !media.getUserMedia) {
      onError('camera.insecure');
      return stop;
    }
    var detect = null;
    detector(options && options.zxing).then(function (d) {
      detect = d;
    }, function () {
      detect = false;
    });
    media.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false }).then(function (s) {
      stream = s;
      if (stopped) return stop();
      video.srcObject = s;
      video.setAttribute('playsinline', '');
      video.muted = true;
      return video.play().then(function () {
        tick();
      });
    }).catch(function (e) {
      if (!stopped) {
        stop();
        onError(cameraError(e));
      }
    });
    function tick() {
      if (stopped) return;
      if (detect === false) {
        stop();
        onError('camera.no_decoder');
        return;
      }
      var attempt = detect ? detect(video) : Promise.resolve(null);
      attempt.then(function (text) {
        if (stopped) return;
        if (text) {
          stop();
          onText(text);
        } else {
          timer = setTimeout(tick, FRAME_MS);
        }
      }, function () {
        if (!stopped) timer = setTimeout(tick, FRAME_MS);
      });
    }
    return stop;
  }

  window.BoothScan = { start: start, loadScript: loadScript };
})();
