/* The review pages' one script: the project map (Leaflet, served locally; no online tiles) and
   the run progress bar. No framework; data comes from <script type="application/json"> blocks and
   data- attributes (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";

  var SEVERITY_COLOURS = {
    info: "#4e79a7",
    warning: "#e8a33d",
    critical: "#d7301f",
    unverifiable: "#7b3294"
  };
  var NO_FLAG = "#b8d8b8";
  var NO_RESULT = "#cfd4d6";
  /* ColorBrewer YlGn, 5 classes (the legend's .ramp in pages.css) */
  var RAMP = [[255, 255, 204], [194, 230, 153], [120, 198, 121], [49, 163, 84], [0, 104, 55]];

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function rampColour(t) {
    t = Math.max(0, Math.min(1, t));
    var x = t * (RAMP.length - 1);
    var i = Math.min(RAMP.length - 2, Math.floor(x));
    var f = x - i;
    var c = RAMP[i].map(function (v, k) { return Math.round(v + f * (RAMP[i + 1][k] - v)); });
    return "rgb(" + c.join(",") + ")";
  }

  function formatNumber(x) {
    return x === null || x === undefined ? "–" : x.toFixed(3);
  }

  function initMap() {
    var cfg = readJson("map-config");
    var el = document.getElementById("map");
    if (!cfg || !el || !window.L) { return; }
    var mode = cfg.mode || "credit";
    fetch(cfg.data_url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var many = data.features.length > 5000;
        var map = L.map(el, { preferCanvas: many, zoomSnap: 0.25 });
        map.attributionControl.setPrefix(false);
        var range = data.credit_range || [0, 0];
        var span = range[1] - range[0];

        function colour(p) {
          if (mode === "flag") { return p.severity ? SEVERITY_COLOURS[p.severity] || NO_RESULT : NO_FLAG; }
          if (p.credit === null || p.credit === undefined) { return NO_RESULT; }
          return rampColour(span > 0 ? (p.credit - range[0]) / span : 1);
        }
        function style(feature) {
          var c = colour(feature.properties);
          if (data.focus && feature.properties.id === data.focus) {
            /* the plot of the page: magenta, as its outline on the image chips */
            return { color: "#ff00ff", weight: 3, fillColor: c, fillOpacity: 0.5, opacity: 1 };
          }
          return { color: "#333", weight: 0.6, fillColor: c, fillOpacity: 0.85, opacity: 0.9 };
        }

        if (data.background) {
          var b = data.background.bounds; /* west, south, east, north */
          L.imageOverlay(data.background.url, [[b[1], b[0]], [b[3], b[2]]], {
            attribution: "Sentinel-2"
          }).addTo(map);
        }
        var layer = L.geoJSON(data, {
          style: style,
          pointToLayer: function (feature, latlng) { return L.circleMarker(latlng, { radius: 3 }); },
          onEachFeature: function (feature, lyr) {
            var p = feature.properties;
            var tip = document.createElement("span");
            tip.textContent = p.id + " · " + formatNumber(p.credit) + " t CO2e" +
              (p.severity ? " · " + p.severity + " ×" + p.n_flags : "");
            lyr.bindTooltip(tip, { sticky: true });
            lyr.on("click", function () {
              window.location.href = cfg.plot_url.replace("__ID__", encodeURIComponent(p.id));
            });
          }
        }).addTo(map);
        var focus = null;
        layer.eachLayer(function (lyr) {
          if (data.focus && lyr.feature.properties.id === data.focus) { focus = lyr; }
        });
        if (focus) {
          map.fitBounds(focus.getBounds(), { padding: [60, 60], maxZoom: 17 });
        } else if (data.features.length) {
          map.fitBounds(layer.getBounds(), { padding: [10, 10] });
        } else if (data.extent) {
          var e = data.extent;
          map.fitBounds([[e[1], e[0]], [e[3], e[2]]]);
        } else {
          map.setView([35, 105], 4);
        }
        var lo = document.getElementById("credit-min");
        var hi = document.getElementById("credit-max");
        if (lo && data.credit_range) { lo.textContent = formatNumber(range[0]); }
        if (hi && data.credit_range) { hi.textContent = formatNumber(range[1]); }

        document.querySelectorAll('input[name="colour-by"]').forEach(function (input) {
          input.addEventListener("change", function () {
            mode = input.value;
            layer.setStyle(style);
            document.getElementById("legend-credit").hidden = mode !== "credit";
            document.getElementById("legend-flag").hidden = mode !== "flag";
          });
        });
        el.setAttribute("data-ready", String(data.features.length));
      })
      .catch(function (err) {
        el.setAttribute("data-error", String(err));
      });
  }

  function initRunProgress() {
    var bar = document.getElementById("run-progress");
    if (!bar) { return; }
    var label = document.getElementById("run-stage");
    var url = bar.getAttribute("data-status-url");
    function poll() {
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.percentage !== null && s.percentage !== undefined) { bar.value = s.percentage; }
          if (label) {
            label.textContent = "#" + s.id + " · " + (s.stage || "") + " · " +
              Math.round(s.percentage || 0) + " %";
          }
          if (s.status !== "running") { window.location.reload(); } else { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    initMap();
    initRunProgress();
  });
}());
