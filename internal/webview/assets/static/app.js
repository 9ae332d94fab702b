// The e2l web view works without this script: it only adds "/" to jump to
// the search box, and shows the times of the page in the reader's zone on hover.
document.addEventListener('keydown', function (e) {
  if (e.key === '/' && document.activeElement.tagName !== 'INPUT') {
    var q = document.querySelector('.quick input');
    if (q) { e.preventDefault(); q.focus(); }
  }
});
