/**
 * Acme Outdoor storefront: cart drawer and search suggestions.
 */
(function (window, document) {
  'use strict';

  var CART_KEY = 'acme.cart.v2';

  function readCart() {
    try {
      var raw = window.localStorage.getItem(CART_KEY);
      return raw ? JSON.parse(raw) : { items: [] };
    } catch (error) {
      console.warn('cart unreadable, starting over', error);
      return { items: [] };
    }
  }

  function writeCart(cart) {
    window.localStorage.setItem(CART_KEY, JSON.stringify(cart));
  }

  function formatPrice(cents, currency) {
    var amount = (cents / 100).toFixed(2);
    return currency === 'EUR' ? '\u20ac' + amount : amount + ' ' + currency;
  }

  function cartTotal(cart) {
    return cart.items.reduce(function (total, item) {
      return total + item.priceCents * item.quantity;
    }, 0);
  }

  function renderCart(cart) {
    var list = document.querySelector('[data-cart-items]');
    var total = document.querySelector('[data-cart-total]');
    if (!list || !total) {
      return;
    }
    list.innerHTML = '';
    cart.items.forEach(function (item) {
      var row = document.createElement('li');
      row.textContent = item.quantity + ' \u00d7 ' + item.name + ' (' + formatPrice(item.priceCents, 'EUR') + ')';
      list.appendChild(row);
    });
    total.textContent = formatPrice(cartTotal(cart), 'EUR');
  }

  function addToCart(sku, name, priceCents, quantity) {
    var cart = readCart();
    var existing = cart.items.find(function (item) { return item.sku === sku; });
    if (existing) {
      existing.quantity += quantity;
    } else {
      cart.items.push({ sku: sku, name: name, priceCents: priceCents, quantity: quantity });
    }
    writeCart(cart);
    renderCart(cart);
    return cart;
  }

  // Debounced search suggestions.
  var debounceTimer = null;
  function suggest(query) {
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(function () {
      if (query.trim().length < 2) {
        return;
      }
      fetch('/api/suggest?q=' + encodeURIComponent(query))
        .then(function (response) { return response.json(); })
        .then(function (data) {
          var box = document.getElementById('suggestions');
          box.innerHTML = data.suggestions.map(function (s) {
            return '<li><a href="' + s.url + '">' + s.title + '</a></li>';
          }).join('');
        })
        .catch(function () { /* suggestions are optional */ });
    }, 150);
  }

  class Drawer {
    constructor(element) {
      this.element = element;
      this.open = false;
    }
    toggle() {
      this.open = !this.open;
      this.element.classList.toggle('is-open', this.open);
      this.element.setAttribute('aria-hidden', String(!this.open));
    }
  }

  document.addEventListener('DOMContentLoaded', function () {
    renderCart(readCart());
    var search = document.querySelector('input[name="q"]');
    if (search) {
      search.addEventListener('input', function () { suggest(search.value); });
    }
    var drawerElement = document.querySelector('.cart-drawer');
    if (drawerElement) {
      var drawer = new Drawer(drawerElement);
      document.querySelectorAll('[data-toggle-cart]').forEach(function (button) {
        button.addEventListener('click', function () { drawer.toggle(); });
      });
    }
  });

  window.AcmeCart = { add: addToCart, read: readCart, total: cartTotal };
})(window, document);
